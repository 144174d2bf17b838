-- Never finishes loading: the instruction budget stops it.
while true do end

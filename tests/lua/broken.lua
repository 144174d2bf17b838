-- Fails while loading: its spawn fails.
error("broken on purpose")

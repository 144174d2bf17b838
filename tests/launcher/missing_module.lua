-- bootstrap names a module found on no path of module_path.
module_path = "./no_such_dir/?.so;" .. env("SKY_TEST_MODDIR", ".") .. "/?.so"
bootstrap = "no_such_module"

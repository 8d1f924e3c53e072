MESSAGE = "scm sample works"

MESSAGE = "flit sample works"

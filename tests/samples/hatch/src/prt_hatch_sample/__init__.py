MESSAGE = "hatch sample works"

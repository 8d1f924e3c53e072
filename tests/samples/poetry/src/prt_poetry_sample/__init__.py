MESSAGE = "poetry sample works"

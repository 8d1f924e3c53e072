MESSAGE = "pdm sample works"

MESSAGE = "setuptools sample works"

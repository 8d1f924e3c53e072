MESSAGE = "hostile sample built"

NAME = "member"

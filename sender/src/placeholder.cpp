// sender library: sources arrive with its issue.

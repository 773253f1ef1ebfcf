// worker library: sources arrive with its issue.

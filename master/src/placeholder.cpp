// master library: sources arrive with its issue.

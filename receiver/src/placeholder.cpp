// receiver library: sources arrive with its issue.

def subtree_summary(user):
    return None

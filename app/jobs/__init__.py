"""Background work run by RQ workers."""

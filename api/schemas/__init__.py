"""Response and request models shared by more than one router."""

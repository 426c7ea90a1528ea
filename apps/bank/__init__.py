"""The bank (institution) app: its products and the applications it received."""

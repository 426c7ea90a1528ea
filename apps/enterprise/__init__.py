"""The enterprise app: a company's profile and the products it could apply for."""

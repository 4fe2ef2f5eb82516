"""Request and response models of the API, one module per resource (for the OpenAPI schema)."""

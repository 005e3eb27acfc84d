"""S3 API middleware."""

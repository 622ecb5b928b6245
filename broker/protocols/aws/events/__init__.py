"""EventBridge over AWS JSON 1.1 (``X-Amz-Target: AWSEvents.<Action>``)."""

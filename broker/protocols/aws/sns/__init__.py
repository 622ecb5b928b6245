"""SNS over the AWS Query protocol: form-encoded requests, XML responses."""

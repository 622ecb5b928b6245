"""Amazon SQS (API version 2012-11-05) over AWS JSON 1.0 and the Query protocol."""

"""Background loops of a broker process, each with one start()/stop() lifecycle."""

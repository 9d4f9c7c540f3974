"""Building and saving keras.Model objects from generated source, in a worker process."""

"""What the API's routes ask to be done, beyond reading: each service owns one kind of change once,
so a route only parses the request, calls the service and shapes the answer."""

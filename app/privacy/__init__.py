"""Personal data over time: the command line for anonymising contact details."""

"""MQTT: the connection, the outbox publisher, Home Assistant discovery and commands."""

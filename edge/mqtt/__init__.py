"""MQTT: the outbox publisher, Home Assistant discovery and commands."""

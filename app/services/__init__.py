"""Domain services: plain functions taking the actor and the session; no Flask imports."""

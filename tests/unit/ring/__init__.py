"""Tests for objstore.ring."""

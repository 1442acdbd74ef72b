"""Tests of the deployment template."""

"""Naviyam (나비얌): food recommendations for children with meal-support cards."""

__version__ = "0.1.0"

"""Unit economics of program loads and the state's balance sheet."""

"""Risk: Monte Carlo over the market and, later, demand and hydro years."""

"""Service analytics: metric definitions, hourly roll-ups, surge detection, forecasts and threshold alerts."""

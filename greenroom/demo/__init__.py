"""The demo organisation and live demo traffic: `greenroom demo seed|traffic|crisis`."""

"""The invitation funnel: the admin's Home tab section and `/exalate report`."""

"""Deployment freezes: calendars, the automatic freeze while production is unhealthy, break-glass overrides,
and the gate that CodePipeline stage conditions and CodeDeploy lifecycle hooks ask."""

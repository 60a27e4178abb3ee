"""One powertools Logger for the layer; its service name comes from POWERTOOLS_SERVICE_NAME."""

from aws_lambda_powertools import Logger

logger = Logger(child=False)

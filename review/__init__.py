"""The web application (``synpunkt web``): the SMS gateways' webhooks and a
health endpoint now; the registrator's, chefs' and admins' pages next."""

"""Queries of the API, one module per aggregate: customers, operators, loan applications, audit."""

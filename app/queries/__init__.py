"""The portal's queries, one module per question: where a point lies, which areas, what a map or report counts.

Raw SQL where an ORM query would cost speed or clarity; each module says why.
"""

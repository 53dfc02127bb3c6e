"""Student templates for EECS 182 Homework 7: fill in the parts that raise NotImplementedError."""

"""The economics engine: network (subsidy, hashprice), fleet, dispatch, AI/HPC, finance and valuation, vectorized over [path, month]."""

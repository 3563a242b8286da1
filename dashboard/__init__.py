"""The browser face of the product: a Streamlit app over the public views and the raw table."""

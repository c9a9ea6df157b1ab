"""numpy, pandas, sympy and a matplotlib plot, as a chat bot's users run them."""

import io
import pathlib

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sympy

matrix = np.random.default_rng(1).random((50, 50))
assert np.allclose(matrix @ np.linalg.inv(matrix), np.eye(50))
assert np.isclose(np.fft.ifft(np.fft.fft(np.arange(8.0))).real, np.arange(8.0)).all()
frame = pd.DataFrame(
    {
        "city": ["a", "b", "a"],
        "n": [1, 2, 3],
        "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
    }
)
assert frame.groupby("city")["n"].sum().to_dict() == {"a": 4, "b": 2}
frame.to_csv("/home/frame.csv", index=False)
assert pd.read_csv("/home/frame.csv")["n"].sum() == 6
x = sympy.symbols("x")
assert sympy.integrate(sympy.sin(x) ** 2, (x, 0, sympy.pi)) == sympy.pi / 2
assert sympy.solve(x**2 - 4, x) == [-2, 2]
assert matplotlib.get_backend().lower() == "agg"
figure, axes = plt.subplots()
axes.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 2, label="square")
axes.legend()
axes.set_title("snekbox")
figure.savefig("/home/plot.png")
image = io.BytesIO()
figure.savefig(image, format="svg")
assert pathlib.Path("/home/plot.png").read_bytes()[:4] == b"\x89PNG"
assert b"<svg" in image.getvalue()
print("corpus ok")

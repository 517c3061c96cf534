# Fits the article's model: a scikit-learn LinearRegression, saved with joblib, on the same
# seeded synthetic data mlbench's own model is fitted on (`mlbench dataset` writes it), and
# with the same split (the first 80 % of rows). Prints its hold-out R² beside the file.
import argparse
import csv

import joblib
import numpy as np
from sklearn.linear_model import LinearRegression

parser = argparse.ArgumentParser()
parser.add_argument('--data', required=True)
parser.add_argument('--out', required=True)
parser.add_argument('--holdout', type=float, default=0.2)
args = parser.parse_args()

with open(args.data, newline='') as f:
    rows = list(csv.reader(f))
data = np.array(rows[1:], dtype=np.float64)
x, y = data[:, :-1], data[:, -1]
n = int(len(y) * (1 - args.holdout))
model = LinearRegression().fit(x[:n], y[:n])
joblib.dump(model, args.out)
print(f'{args.out}: LinearRegression on {n} rows x {x.shape[1]} features, hold-out R2={model.score(x[n:], y[n:]):.4f}')

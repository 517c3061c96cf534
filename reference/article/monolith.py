# Monolithic ML Model Deployment: the article's code, as it shows it.
# Added for the benchmark only: host, port and model path from the command line
# (the article hard-codes 0.0.0.0:5000 and 'linear_regression_model.pkl').
# Its serving model is left alone: Flask's own development server, as the article runs it.
import argparse

from flask import Flask, request
import joblib

parser = argparse.ArgumentParser()
parser.add_argument('--host', default='127.0.0.1')
parser.add_argument('--port', type=int, default=5000)
parser.add_argument('--model', default='linear_regression_model.pkl')
args = parser.parse_args()

app = Flask(__name__)
model = joblib.load(args.model)

@app.route('/predict', methods=['POST'])
def predict():
    data = request.json
    prediction = model.predict([data['features']])
    return {'prediction': prediction[0]}

if __name__ == '__main__':
    app.run(host=args.host, port=args.port)

# Microservices ML Model Deployment, Service 2: Prediction Service (the article's code).
# Added for the benchmark only: host, port and model path from the command line.
import argparse

from flask import Flask, request
import joblib

parser = argparse.ArgumentParser()
parser.add_argument('--host', default='127.0.0.1')
parser.add_argument('--port', type=int, default=5001)
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

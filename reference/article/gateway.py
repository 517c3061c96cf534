# Microservices ML Model Deployment, Service 1: API Gateway (the article's code).
# Added for the benchmark only: host and port from the command line, and the upstream URL(s)
# from --upstreams instead of the hard-coded http://prediction-service:5001. With several
# upstreams it takes them in turn (the article has one; it does no balancing, retries or
# health checks, and neither does this). Each request is a new `requests.post`, as written.
import argparse
import itertools

from flask import Flask, request
import requests

parser = argparse.ArgumentParser()
parser.add_argument('--host', default='127.0.0.1')
parser.add_argument('--port', type=int, default=5000)
parser.add_argument('--upstreams', default='http://prediction-service:5001')
args = parser.parse_args()
upstreams = itertools.cycle(args.upstreams.split(','))

app = Flask(__name__)

@app.route('/predict', methods=['POST'])
def predict():
    data = request.json
    response = requests.post(f'{next(upstreams)}/predict', json=data)
    return response.json()

if __name__ == '__main__':
    app.run(host=args.host, port=args.port)
